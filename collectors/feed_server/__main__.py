"""`python -m collectors.feed_server`: the reference feed server (same as `python app.py feed-server`)."""
import argparse
import sys

from collectors.feed_server import add_arguments, serve

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m collectors.feed_server", description=__doc__)
    add_arguments(parser)
    sys.exit(serve(parser.parse_args()))
