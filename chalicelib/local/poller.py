"""Feeds SQS messages to a Lambda handler like an event source mapping does.

Batches of up to 10, in the real event shape; records listed in `batchItemFailures` stay on
the queue (they return after the visibility timeout and, past maxReceiveCount, go to the DLQ);
the rest are deleted. A handler that raises fails the whole batch, as on AWS.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from chalicelib.aws import client, queue_url
from chalicelib.local.lambda_events import LocalContext, sqs_event
from chalicelib.observability import logger

Handler = Callable[[dict[str, Any], Any], Any]


class QueuePoller(threading.Thread):
    def __init__(
        self, queue_name: str, handler: Handler, function_name: str, timeout_s: int, region: str, batch_size: int = 10
    ) -> None:
        super().__init__(name=f"poller-{queue_name}", daemon=True)
        self.queue_name = queue_name
        self.handler = handler
        self.function_name = function_name
        self.timeout_s = timeout_s
        self.region = region
        self.batch_size = batch_size
        self._halt = threading.Event()
        self.idle_wait_s = 0.2

    def stop(self) -> None:
        self._halt.set()

    def poll_once(self, wait_s: int = 0) -> int:
        """Receive one batch and hand it to the handler; returns how many records it carried."""
        sqs = client("sqs")
        url = queue_url(self.queue_name)
        response = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        arn = f"arn:aws:sqs:{self.region}:123456789012:{self.queue_name}"
        event = sqs_event(messages, arn, self.region)
        try:
            result = self.handler(event, LocalContext(self.function_name, self.timeout_s)) or {}
        except Exception:  # the whole batch fails and returns to the queue, as on AWS
            logger.exception("handler failed the whole batch", extra={"error_code": "batch_failed"})
            return len(messages)
        failed = {f["itemIdentifier"] for f in (result.get("batchItemFailures") or [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            )
        return len(messages)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                if not self.poll_once():
                    # Short polls, not long polls: moto serves one request at a time, and a
                    # 1 s long poll would hold everyone else's DynamoDB call for that second.
                    self._halt.wait(self.idle_wait_s)
            except Exception:  # keep polling: a local stack should survive a bad moment
                if not self._halt.is_set():
                    logger.exception("poller error")
                    self._halt.wait(1)
