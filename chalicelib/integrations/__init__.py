"""Third-party automation platforms on the webhooks machinery: Zapier REST hooks and IFTTT."""
