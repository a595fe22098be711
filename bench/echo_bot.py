"""A bare python-telegram-bot echo bot, the yardstick of the ingest benchmark: the same library
and the same server, no database and no handlers.

    python -m bench.echo_bot URL TOKEN
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def _echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def main() -> int:
    url, token = sys.argv[1], sys.argv[2]
    builder = Application.builder().token(token).base_url(f"{url}/bot")
    if "--aiohttp" in sys.argv[3:]:
        # tcns's HTTP client under the same library: what of the difference is the transport.
        from bot.aiohttp_request import AiohttpRequest

        builder = builder.request(AiohttpRequest(connection_pool_size=256)).get_updates_request(
            AiohttpRequest(connection_pool_size=1)
        )
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    app.run_polling(poll_interval=0.0, timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
