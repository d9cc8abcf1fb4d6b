"""Signatures and replies of each channel kind, against the notes' test vectors and a real local
HTTP receiver that checks signatures like the providers do."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import quote_plus

import pytest

from alerts import channels, outbound
from alerts.messages import Message
from alerts.outbound import Reply
from tests.alerts.conftest import Receiver, Step

MSG = Message(
    event="firing",
    title="Job job-x failed",
    lines=[("Job", "job-x"), ("Party", "bob"), ("Reason", "exit code 1 <oops> & more")],
    link="http://console.test/jobs/local/job-x/",
)


def test_dingtalk_vector_from_the_notes() -> None:
    sign = channels.sign_dingtalk("SEC0123456789abcdef", 1700000000000)
    assert sign == "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="
    assert quote_plus(sign) == "TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D"


def test_feishu_vector_from_the_notes() -> None:
    assert (
        channels.sign_feishu("fs-secret-123", 1700000000)
        == "rPNnkMs3Q5pZuCJhcgHSRuONHdbnec5VJpuK8usodEk="
    )


def test_webhook_signature_is_hmac_of_the_raw_body() -> None:
    req = channels.build(
        "webhook", "http://h/x", "s3cret", MSG, delivery_uid="u-1", payload={"a": "ü"}
    )
    want = hmac.new(b"s3cret", req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-KC-Signature"] == f"sha256={want}"
    assert req.headers["X-KC-Event"] == "incident.firing"
    assert req.headers["X-KC-Delivery"] == "u-1"
    assert json.loads(req.body) == {"a": "ü"}


def test_webhook_without_secret_has_no_signature_header() -> None:
    req = channels.build("webhook", "http://h/x", "", MSG, delivery_uid="u-1", payload={})
    assert "X-KC-Signature" not in req.headers


def test_chat_bodies_are_plain_text_with_the_facts() -> None:
    ding = json.loads(
        channels.build("dingtalk", "u", "SECx", MSG, delivery_uid="d-1", payload={}, now=1.5).body
    )
    assert ding["msgtype"] == "text" and ding["msgUuid"] == "d-1"
    assert "Party: bob" in ding["text"]["content"] and MSG.link in ding["text"]["content"]
    fs = json.loads(
        channels.build("feishu", "u", "fs", MSG, delivery_uid="d", payload={}, now=1700000000).body
    )
    assert fs["timestamp"] == "1700000000" and fs["msg_type"] == "text"
    assert fs["sign"] == channels.sign_feishu("fs", 1700000000)
    wecom = json.loads(channels.build("wecom", "u", "", MSG, delivery_uid="d", payload={}).body)
    assert wecom["msgtype"] == "text" and "job-x" in wecom["text"]["content"]
    slack = json.loads(channels.build("slack", "u", "", MSG, delivery_uid="d", payload={}).body)
    assert "&lt;oops&gt; &amp; more" in slack["text"]  # Kuscia's text is not Slack markup
    assert f"<{MSG.link}|" in slack["text"]


def test_wecom_text_is_cut_to_its_byte_limit() -> None:
    long = Message(event="firing", title="失败" * 2000)
    body = json.loads(channels.build("wecom", "u", "", long, delivery_uid="d", payload={}).body)
    assert len(body["text"]["content"].encode()) <= channels.WECOM_MAX_BYTES


@pytest.mark.parametrize(
    ("kind", "reply", "ok", "retry"),
    [
        ("webhook", Reply(204, ""), True, False),
        ("webhook", Reply(500, "boom"), False, True),
        ("webhook", Reply(429, ""), False, True),
        ("webhook", Reply(404, "no"), False, False),
        ("dingtalk", Reply(200, '{"errcode":0,"errmsg":"ok"}'), True, False),
        ("dingtalk", Reply(200, '{"errcode":310000,"errmsg":"sign not match"}'), False, False),
        ("dingtalk", Reply(200, '{"errcode":130101,"errmsg":"send too fast"}'), False, True),
        ("feishu", Reply(200, '{"code":0,"msg":"success"}'), True, False),
        ("feishu", Reply(200, '{"StatusCode":0,"StatusMessage":"success"}'), True, False),
        ("feishu", Reply(200, '{"code":19021,"msg":"sign match fail"}'), False, False),
        ("wecom", Reply(200, '{"errcode":93000,"errmsg":"invalid webhook url"}'), False, False),
        ("slack", Reply(200, "ok"), True, False),
        ("slack", Reply(404, "channel_not_found"), False, False),
        ("feishu", Reply(200, "<html>"), False, False),
    ],
)
def test_replies_are_judged_like_the_provider_means_them(
    kind: str, reply: Reply, ok: bool, retry: bool
) -> None:
    verdict = channels.judge(kind, reply)
    assert (verdict.ok, verdict.retry) == (ok, retry), verdict


@pytest.mark.parametrize(
    ("scheme", "secret"),
    [
        ("webhook", "hook-secret"),
        ("dingtalk", "SEC0123456789abcdef"),
        ("feishu", "fs-secret-123"),
        ("wecom", "wecom-key-1"),
        ("slack", "T000/B000/XXX"),
    ],
)
def test_each_scheme_is_accepted_by_a_receiver_that_checks_it(
    receiver: Receiver, scheme: str, secret: str
) -> None:
    url = receiver.add(f"/{scheme}", scheme, secret)
    signing = secret if scheme in ("webhook", "dingtalk", "feishu") else ""
    req = channels.build(scheme, url, signing, MSG, delivery_uid="u-9", payload={"x": 1})
    reply = outbound.post(req.url, req.body, headers=req.headers, params=req.params, timeout=5)
    hit = receiver.hits_at(f"/{scheme}")[0]
    assert hit.verified, hit.problem
    assert channels.judge(scheme, reply).ok, reply
    if scheme == "dingtalk":
        assert hit.query["access_token"] == "tok-123"  # the URL's own query is kept


def test_a_wrong_secret_is_refused_by_the_receiver(receiver: Receiver) -> None:
    url = receiver.add("/ding", "dingtalk", "SECright")
    req = channels.build("dingtalk", url, "SECwrong", MSG, delivery_uid="u", payload={})
    reply = outbound.post(req.url, req.body, params=req.params, timeout=5)
    verdict = channels.judge("dingtalk", reply)
    assert not verdict.ok and "310000" in verdict.result


def test_timeouts_and_refused_connections_are_send_errors(receiver: Receiver) -> None:
    url = receiver.add("/slow", "webhook", "", Step(sleep=2.0))
    with pytest.raises(outbound.SendError) as exc:
        outbound.post(url, b"{}", headers={"X-KC-Event": "t", "X-KC-Delivery": "d"}, timeout=0.5)
    assert exc.value.kind == "timeout"
    from tests.alerts.conftest import free_port

    with pytest.raises(outbound.SendError) as exc2:
        outbound.post(f"http://127.0.0.1:{free_port()}/x?key=SECRET", b"{}", timeout=1)
    assert exc2.value.kind == "connect" and "SECRET" not in str(exc2.value)
