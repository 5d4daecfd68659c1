from exchange.cli import entry

entry()
