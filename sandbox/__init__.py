"""Local stand-ins for the chat platforms, on 127.0.0.1: what the tests, the benchmarks and
`tcns demo` talk to instead of Telegram. They enforce what the real services enforce (the Bot
API's methods and parameters, HTML, message limits, rate limits with 429) so that whatever
works against them has a fair chance of working live."""
