"""What the tests and the benchmarks share: fake Telegram and Zalo servers, drivers that talk to the
real app like a person, data factories and config writers. Never imports a test module."""
