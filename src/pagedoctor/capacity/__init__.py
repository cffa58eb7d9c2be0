"""``pagedoctor capacity``: how many views a day the site's pages can serve, measured.

The site runs under gunicorn on the loopback interface; wrk ramps the number of concurrent
clients against each page, and the highest rate whose 95th-percentile latency stays under a
target is turned into views per day under a stated peak model (see docs/capacity.md)::

    pages.py    which pages, and the refusal of anything but this machine
    server.py   gunicorn as a subprocess, always stopped (wsgi.py is what it serves)
    wrk.py      one step of load: wrk at N connections for D seconds
    ramp.py     steps of 1, 2, 4 … connections until the latency target is missed
    model.py    requests per second <-> views per day (naive and peak model)
    section.py  the report's ``capacity`` section; terminal.py prints it
    command.py  the command itself

Nothing here imports gunicorn: it runs in its own process.
"""
