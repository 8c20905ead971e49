"""Every failure nemo-mcp reports, each with a message a user can act on.

The MCP layer relays ``str(error)`` as the tool error text (the CLI prints it), so every message
here is written for the person in front of the assistant: what happened and what to do next.
No message may ever contain a token. The tree:

    NemoError
    ├── ConfigError            a setting in the environment is unusable (names the variable)
    ├── InvalidInput           a tool argument was refused before anything was sent
    ├── TokenExpired           1001 on an anonymous token: renewed and retried, rarely seen
    ├── InvalidUserToken       1001 on NEMO_TOKEN: only the user can fix it
    ├── SessionNotFound        1002: the project is gone on the server
    ├── SessionReset           ... and so a new empty one is now current
    ├── OutOfCredits           2001, with the registration link for anonymous users
    ├── UnsupportedFile        4001
    ├── FileTooLarge           4002
    ├── MissingClientId        400 on the token endpoint: a new client id, one retry
    ├── PlanLimit              402: exports blocked on the plan
    ├── RateLimited            429 that outlasted the one retry
    ├── ServiceUnavailable     5xx and connection failures that outlasted the retries
    ├── ProtocolError          an answer nemo-mcp could not read
    ├── ApiError               any other error code, with the API's own message
    ├── StreamDropped          the instruction stream broke before it ended
    ├── RenderFailed           the export failed (names the render)
    ├── RenderTimeout          the export did not finish in time (names the render)
    ├── DownloadFailed         the video could not be saved; nothing was left behind
    └── NotExportable          the timeline is empty

Anything else that escapes is a bug: the MCP layer logs it and says "internal error".
"""

from __future__ import annotations

from nemo_mcp.draft.media import ACCEPTED_FORMATS, MAX_UPLOAD_TEXT


class NemoError(Exception):
    """Base of every error nemo-mcp raises on purpose."""

    code: int | None = None
    default_message = "NemoVideo request failed."

    def __init__(self, message: str | None = None, *, code: int | None = None) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class ConfigError(NemoError):
    """A setting in the environment is unusable; names the variable."""


class InvalidInput(NemoError):
    """A tool argument was refused before anything was sent to the API."""


class TokenExpired(NemoError):
    """1001 on an anonymous token: the client gets a fresh one and retries."""

    code = 1001
    default_message = "The NemoVideo token expired or is invalid."


class InvalidUserToken(NemoError):
    """1001 on the user's own NEMO_TOKEN: only the user can fix it."""

    code = 1001
    default_message = (
        "Your NEMO_TOKEN was refused by NemoVideo (expired or invalid). "
        "Create a new token at nemovideo.com and update NEMO_TOKEN, or unset it to use a free anonymous token."
    )


class SessionNotFound(NemoError):
    """1002: the project is gone on the server, with its timeline and uploads."""

    code = 1002
    default_message = "The NemoVideo session was not found; its timeline and uploads are gone."


class SessionReset(NemoError):
    """The session was gone (1002); a new empty one is now current."""

    code = 1002

    def __init__(self, old: str, new: str) -> None:
        self.old_session_id, self.new_session_id = old, new
        super().__init__(
            f"The NemoVideo project {old} has expired on the server, with its timeline and uploads. "
            f"A new empty project ({new}) is ready and is now the current one: upload the media again, "
            "then send the instruction again."
        )


class OutOfCredits(NemoError):
    code = 2001

    def __init__(self, message: str | None = None, *, register_url: str | None = None) -> None:
        self.register_url = register_url
        if message is None:
            if register_url:
                message = (
                    "You are out of NemoVideo credits. Register for free to get more credits "
                    f"and keep this project: {register_url}"
                )
            else:
                message = "You are out of NemoVideo credits. Top up at nemovideo.com, then try again."
        super().__init__(message)


class UnsupportedFile(NemoError):
    code = 4001
    default_message = f"NemoVideo does not accept this file type. Accepted formats: {ACCEPTED_FORMATS}."


class FileTooLarge(NemoError):
    code = 4002
    default_message = (
        f"The file is larger than NemoVideo's {MAX_UPLOAD_TEXT} limit. Compress or trim it, then upload it again."
    )


class MissingClientId(NemoError):
    code = 400
    default_message = "NemoVideo asked for a client id (X-Client-Id)."


class PlanLimit(NemoError):
    code = 402
    default_message = (
        "NemoVideo refused the export (HTTP 402): exports are blocked on this plan. "
        "This is a plan limit, not a lack of credits; upgrade at nemovideo.com to export."
    )


class RateLimited(NemoError):
    code = 429
    default_message = "NemoVideo is rate limiting requests; try again in a minute."


class ServiceUnavailable(NemoError):
    """5xx answers and connection failures that outlasted the retries."""

    default_message = "NemoVideo is not reachable right now; try again in a minute."


class ProtocolError(NemoError):
    """An answer we could not make sense of."""

    default_message = "NemoVideo sent an answer nemo-mcp could not read."


class ApiError(NemoError):
    """Any other error code the API answers with; the message is the API's own."""


class StreamDropped(NemoError):
    """The instruction stream broke before it ended; the agent may still be working."""

    default_message = "The connection to the NemoVideo editor dropped before it finished."


class RenderFailed(NemoError):
    def __init__(self, message: str | None = None, *, render_id: str = "", reason: str | None = None) -> None:
        self.render_id = render_id
        self.reason = reason  # the renderer's own words, when it gave any
        super().__init__(message or f"The export failed on NemoVideo's side (render {render_id}).")


class RenderTimeout(NemoError):
    def __init__(self, message: str | None = None, *, render_id: str = "") -> None:
        self.render_id = render_id
        super().__init__(message or f"The export (render {render_id}) did not finish in time.")


class DownloadFailed(NemoError):
    default_message = "Downloading the exported video failed; no file was kept. Export again to retry."


class NotExportable(NemoError):
    default_message = (
        "The timeline is empty, so there is nothing to export yet. Upload media and send an editing instruction first."
    )
