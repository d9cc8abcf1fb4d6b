"""Shared vocabulary of the simulated cluster: the JSON alias, Kuscia's error codes, APIError."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

# Error codes (kuscia-api.md §4.2)
OK = 0
ERR_VALIDATE = 11100
ERR_UNEXPECTED = 11101
ERR_MASTER_NOT_SUPPORT = 11105
ERR_CREATE_JOB = 11201
ERR_QUERY_JOB = 11202
ERR_QUERY_JOB_STATUS = 11203
ERR_DELETE_JOB = 11204
ERR_STOP_JOB = 11205
ERR_APPROVE_JOB = 11206
ERR_SUSPEND_JOB = 11207
ERR_RESTART_JOB = 11208
ERR_CANCEL_JOB = 11209
ERR_SUSPEND_NOT_RUNNING = 11210
ERR_RESTART_NOT_SUSPENDED_OR_FAILED = 11211
ERR_DOMAIN_NOT_EXISTS = 11305
ERR_ROUTE_NOT_EXISTS = 11404
ERR_DOMAINDATA_NOT_EXISTS = 11506
ERR_CREATE_GRANT = 11700
ERR_QUERY_GRANT = 11702
ERR_DELETE_GRANT = 11703
ERR_GRANT_NOT_EXISTS = 11705
ERR_QUERY_DATASOURCE = 11802
ERR_BATCH_QUERY_DATASOURCE = 11803
ERR_DATASOURCE_NOT_EXISTS = 11806
ERR_LIST_DATASOURCE = 11808
ERR_APPIMAGE_NOT_EXISTS = 13105
ERR_QUERY_LOG = 13200
ERR_QUERY_POD_NODE = 13201

KUSCIA_VERSION = "v1.1.0b0"


# Kuscia checks object names with this Go regexp ("$" is the end of the text: use fullmatch)
K8S_NAME_REGEX = "^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$"


class APIError(Exception):
    """A service-level error: HTTP 200 with status.code/message and `data` (null unless
    given; a repeated `data` field renders as []). `details` are packed Status messages."""

    def __init__(
        self, code: int, message: str, *, details: list[JSON] | None = None, data: Any = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []
        self.data = data


def invalid_name(field: str, value: str) -> str:
    """resources.ValidateK8sName's message (with its trailing space)."""
    return (
        f'Field "{field}" is invalid, invalid value: "{value}": regex used for validation is '
        f'"{K8S_NAME_REGEX}" '
    )


def job_not_found(job_id: str) -> str:
    return f'kusciakuscia.secretflow "{job_id}" not found'
