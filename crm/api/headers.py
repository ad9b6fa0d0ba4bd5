"""Security headers on every response of the app: API answers, desktop pages, static files.

One policy for all: the pages load scripts, styles and images only from this server, talk
only to this server and to the agent gateway's websocket address (`connect_src`), and are never
framed (clickjacking); browsers must not guess content types nor send our URLs (which may
carry filters) as referrers to other sites.
"""

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web


def content_security_policy(connect_src: Sequence[str]) -> str:
    connect = " ".join(["'self'", *connect_src])
    return (
        f"default-src 'self'; connect-src {connect}; img-src 'self'; style-src 'self'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def security_headers(
    connect_src: Sequence[str],
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An `on_response_prepare` callback (it sees responses no handler or middleware made)."""
    headers = {
        "Content-Security-Policy": content_security_policy(connect_src),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }

    async def add(_request: web.Request, response: web.StreamResponse) -> None:
        for name, value in headers.items():
            response.headers.setdefault(name, value)

    return add
