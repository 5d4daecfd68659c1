"""Exchange: a city-to-city exchange and peer-mentoring platform."""

__version__ = "0.1.0"
