"""The web edge: citizen chat, public page, /tra-cuu, Open311 over HTTP, metrics, security headers.
May import: bot (core types, the service, interop). No business rules, no SQL.
"""
