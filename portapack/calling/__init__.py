"""Call a deployed model, or the local runtime ``portapack serve`` started, the same way on
every platform: :class:`Client` (sync) and :class:`AsyncClient` (async), one
:class:`CallError` for every failure.

The neutral part lives here (flows, retries, deadlines, files); each platform's wire format
is a :class:`~portapack.calling.protocol.Transport` in its target's package
(``portapack/targets/<name>/client.py``), named by ``Target.client``.
"""

from portapack.calling.aio import AsyncClient, AsyncRemoteJob
from portapack.calling.client import Client, RemoteJob
from portapack.calling.errors import CallError, CallTimeout
from portapack.calling.protocol import Job, State, Transport
from portapack.calling.retry import PollPolicy, RetryPolicy

__all__ = ["AsyncClient", "AsyncRemoteJob", "CallError", "CallTimeout", "Client", "Job",
           "PollPolicy", "RemoteJob", "RetryPolicy", "State", "Transport"]
