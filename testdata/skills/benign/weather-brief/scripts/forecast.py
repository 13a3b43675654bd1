#!/usr/bin/env python3
"""Print a compact forecast from the Example Weather API.

Usage: forecast.py --place NAME [--days N]
The API key is read from WEATHER_API_KEY.
"""

import argparse
import json
import os
import sys
import urllib.parse
import urllib.request

API = "https://api.example.com/v1/forecast"


def fetch(place: str, days: int) -> dict:
    key = os.environ.get("WEATHER_API_KEY")
    if not key:
        sys.exit("WEATHER_API_KEY is not set")
    query = urllib.parse.urlencode({"q": place, "days": days})
    req = urllib.request.Request(f"{API}?{query}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--place", required=True)
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args()
    data = fetch(args.place, args.days)
    for day in data.get("days", []):
        print(f"{day['date']}: {day['summary']}, {round(day['min_c'])}-{round(day['max_c'])} °C, "
              f"rain {day['rain_chance']}%")


if __name__ == "__main__":
    main()
