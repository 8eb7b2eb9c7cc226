"""The floor to compare danvan with: a trivial python-telegram-bot echo bot behind an aiohttp webhook.

`--backend httpx` uses the library's default HTTP backend; `--backend aiohttp` our AiohttpRequest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from aiohttp import web
from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from handlers.telegram.request import AiohttpRequest


async def echo(update: Update, _context) -> None:  # type: ignore[no-untyped-def]
    """Reply with the same text."""
    await update.effective_message.reply_text(update.effective_message.text or "?")


async def main(args: argparse.Namespace) -> None:
    builder = Application.builder().token(args.token).base_url(f"{args.api}/bot").updater(None)
    if args.backend == "aiohttp":
        builder = builder.request(AiohttpRequest())
    application = builder.build()
    application.add_handler(MessageHandler(filters.ALL, echo))
    await application.initialize()

    async def webhook(request: web.Request) -> web.Response:
        update = Update.de_json(json.loads(await request.read()), application.bot)
        await application.process_update(update)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/telegram/webhook", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    print("ready", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await application.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["httpx", "aiohttp"], default="httpx")
    parser.add_argument("--api", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default="123:ABC")
    asyncio.run(main(parser.parse_args()))
