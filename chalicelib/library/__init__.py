"""The library: images as first-class items (folders, tags, search, trash), bulk edits, uploads,
shares. Services: `images`, `folders`, `bulk`, `uploads`, `shares`, `purge`; pure rules in
`rules`; how edits are written in `changes`; object storage (S3 or R2) in `objects`."""
