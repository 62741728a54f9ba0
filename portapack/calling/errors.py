"""The one exception a call raises, whatever the platform said and however it said it."""

from __future__ import annotations

from typing import Any

from portapack.errors import PortapackError

# HTTP status -> kind (anything else 5xx is "platform", anything else 4xx "input")
KIND_OF_STATUS = {401: "auth", 403: "auth", 407: "auth", 400: "input", 422: "input",
                  404: "not_found", 413: "too_large", 429: "rate_limited", 504: "timeout"}


class CallError(PortapackError):
    """A call failed: the platform's own message, which input it was about, and what kind.

    ``kind`` is one of auth, input, not_found, too_large, rate_limited, model (the predictor
    failed), platform (the platform failed), timeout, canceled, protocol (an answer we could
    not read, a stream cut short).
    """

    label = "call failed"

    def __init__(self, platform: str, detail: str, *, kind: str = "platform",
                 http_status: int | None = None, job_id: str | None = None,
                 inputs: dict[str, Any] | None = None, raw: Any = None,
                 retry_after: float | None = None, route: str | None = None):
        self.platform, self.detail, self.kind = platform, detail, kind
        self.http_status, self.job_id, self.raw = http_status, job_id, raw
        self.inputs, self.retry_after, self.route = inputs, retry_after, route
        self.exit_code = 2 if kind == "input" else 1  # as portapack predict's invalid input
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"{self.platform}"
        if self.route:
            head += f" {self.route}"
        if self.http_status:
            head += f" answered {self.http_status}"
        text = f"{head} ({self.kind}): {self.detail}"
        if self.job_id:
            text += f" [job {self.job_id}]"
        if self.inputs is not None and self.kind in ("input", "model"):
            text += f"\n  inputs: {_short(self.inputs)}"
        return text


class CallTimeout(CallError):
    """The call's deadline passed (the remote job, if any, was asked to cancel)."""

    def __init__(self, platform: str, detail: str, *, canceled: bool = False, **kwargs: Any):
        self.canceled = canceled
        kwargs.setdefault("kind", "timeout")
        super().__init__(platform, detail, **kwargs)


def kind_of(status: int) -> str:
    if status in KIND_OF_STATUS:
        return KIND_OF_STATUS[status]
    return "platform" if status >= 500 else "input"


def _short(inputs: dict[str, Any]) -> str:
    """Inputs for a message: long values (data: URIs) cut, so the message stays one screen."""
    shown = {}
    for key, value in inputs.items():
        text = repr(value)
        shown[key] = text if len(text) <= 80 else text[:60] + f"... ({len(text)} chars)"
    return "{" + ", ".join(f"{k}={v}" for k, v in shown.items()) + "}"
