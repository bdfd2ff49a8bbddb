"""Collections, the public gallery and its moderation (API.md "Templates, collections, gallery").

- `rules`: collection edits, facets, shards, the merge of sharded listings (pure)
- `collections`: albums of a workspace's images, in their owner's order, and their public views
- `publishing`: in and out of the gallery; `listing`: the gallery's pages and search (the seam to
  a search engine); `feedback`: likes and reports from the public; `moderation`: what platform
  admins see and do (report cases, hiding an image everywhere)
- `public`: the per-client rate limits of the routes without a key; `media`: public copies
- `errors`: what they refuse
"""
