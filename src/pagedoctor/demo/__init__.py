"""The demo shop: a small Django site with every performance problem from the talk, on purpose.

Each slow page has a twin under ``/fixed/`` with the talk's advice applied, so the two can be
measured side by side. ``pagedoctor audit`` with no project audits this site.
"""
