"""The mobile backend: devices and push notifications, notification settings, offline sync."""
