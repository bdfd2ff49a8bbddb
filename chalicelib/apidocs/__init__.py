"""The rendered API reference at /docs: Swagger UI 5.35.0 (swagger-ui-dist, Apache-2.0),
vendored in static/ so the page works offline under the same strict CSP as the admin page."""
