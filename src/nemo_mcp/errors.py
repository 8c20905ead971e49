"""Every failure nemo-mcp reports, each with a message a user can act on.

The MCP layer relays ``str(error)`` as the tool error text, so every message
here is written for the person in front of the assistant: what happened and
what to do next. No message may ever contain a token.
"""

from __future__ import annotations

ACCEPTED_FORMATS = "video: mp4, mov, avi, webm, mkv; image: jpg, jpeg, png, gif, webp; audio: mp3, wav, m4a, aac"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


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
    default_message = "The file is larger than NemoVideo's 200 MB limit. Compress or trim it, then upload it again."


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


class StreamTimeout(NemoError):
    default_message = "The NemoVideo editor did not finish in time."


class RenderFailed(NemoError):
    def __init__(self, message: str | None = None, *, render_id: str = "") -> None:
        self.render_id = render_id
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
