"""Run the real ``filetrail-recorder`` binary the way Lambda does, from Python tests.

- :class:`RuntimeApi`: a local stand-in for the Lambda Runtime API (the Python twin of
  ``crates/filetrail-testkit/src/runtime_api.rs``): it serves ``GET /2018-06-01/runtime/
  invocation/next`` with queued events and the headers Lambda sends, and records what the
  function posts to ``.../response`` and ``.../error``
  (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
- :func:`drain_queue`: an SQS event source mapping in miniature: receive a batch, hand it to the
  function as the SQS event Lambda builds (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html),
  delete what the partial batch response does not name
  (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
- :func:`timestream_records`: what the emulator stored in a table (moto keeps every written
  record in its ``/moto-api/data.json`` state, as ``crates/filetrail-testkit/src/moto.rs`` reads it).
"""

import json
import os
import queue
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
#: AWS's documented SQS event (the aws_lambda_events fixture the Rust tests use).
SQS_EVENT_FIXTURE = ROOT / "crates/filetrail-testkit/fixtures/sqs-event.json"
#: How long each invocation may run (sent as ``Lambda-Runtime-Deadline-Ms``).
INVOCATION_TIMEOUT_S = 30


@dataclass
class Answer:
    """What the function answered for one invocation."""

    request_id: str
    ok: bool
    body: str


class RuntimeApi:
    """The stand-in server on a free loopback port; ``address`` is ``AWS_LAMBDA_RUNTIME_API``."""

    def __init__(self) -> None:
        self._events: "queue.Queue[Tuple[str, str]]" = queue.Queue()
        self._answers: Dict[str, Answer] = {}
        self._cond = threading.Condition()
        self._closed = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, body: bytes, headers: Optional[Dict[str, str]] = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if not self.path.endswith("/runtime/invocation/next"):
                    self._reply(404, b"")
                    return
                while not api._closed.is_set():
                    try:
                        request_id, event = api._events.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    deadline = int((time.time() + INVOCATION_TIMEOUT_S) * 1000)
                    self._reply(
                        200,
                        event.encode("utf-8"),
                        {
                            "Content-Type": "application/json",
                            "Lambda-Runtime-Aws-Request-Id": request_id,
                            "Lambda-Runtime-Deadline-Ms": str(deadline),
                            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:111122223333:function:filetrail-recorder",
                            "Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                        },
                    )
                    return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
                parts = self.path.rstrip("/").split("/")
                if len(parts) >= 2 and parts[-1] in ("response", "error"):
                    with api._cond:
                        api._answers[parts[-2]] = Answer(parts[-2], parts[-1] == "response", body)
                        api._cond.notify_all()
                    self._reply(202, b'{"status":"OK"}')
                else:
                    self._reply(404, b"")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.address = f"{host}:{port}"

    def invoke(self, request_id: str, event: Any, timeout_s: float = 60) -> Answer:
        """Queue an invocation and wait for the function's answer (fails if none comes)."""
        self._events.put((request_id, json.dumps(event)))
        end = time.monotonic() + timeout_s
        with self._cond:
            while request_id not in self._answers:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the function did not answer {request_id} within {timeout_s}s")
                self._cond.wait(left)
            return self._answers[request_id]

    def close(self) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()


class Function:
    """A Lambda binary running under a :class:`RuntimeApi`, its logs in ``log_dir``."""

    def __init__(self, binary: Path, env: Dict[str, str], log_dir: Path) -> None:
        self.api = RuntimeApi()
        self._out = open(log_dir / "recorder.stdout", "w")
        self._err = open(log_dir / "recorder.stderr", "w")
        child_env = dict(os.environ)
        child_env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": self.api.address,
                "AWS_LAMBDA_FUNCTION_NAME": "filetrail-recorder",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_FORMAT": "JSON",
            }
        )
        child_env.update(env)
        self.process = subprocess.Popen([str(binary)], env=child_env, stdout=self._out, stderr=self._err)
        self._n = 0

    def invoke(self, event: Any) -> Answer:
        if self.process.poll() is not None:
            raise AssertionError(f"the function exited with {self.process.returncode}")
        self._n += 1
        return self.api.invoke(f"req-{self._n}", event)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self.api.close()
        self._out.close()
        self._err.close()


def sqs_event(messages: List[Dict[str, Any]], queue_arn: str) -> Dict[str, Any]:
    """The SQS event Lambda builds for a batch of received messages."""
    event = json.loads(SQS_EVENT_FIXTURE.read_text())
    template = event["Records"][0]
    records = []
    for m in messages:
        r = dict(template)
        r.update(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "md5OfBody": m.get("MD5OfBody", ""),
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    k: {
                        "stringValue": v.get("StringValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v.get("DataType", "String"),
                    }
                    for k, v in m.get("MessageAttributes", {}).items()
                },
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        )
        records.append(r)
    event["Records"] = records
    return event


def drain_queue(sqs: Any, queue_url: str, queue_arn: str, function: Function, expected: int, timeout_s: float = 90) -> List[Dict[str, Any]]:
    """Hand every message of the queue to ``function`` in batches of up to 10, deleting what it
    does not name in ``batchItemFailures``, until ``expected`` messages were handled and a
    receive finds the queue empty. Returns the messages handed over."""
    handled: List[Dict[str, Any]] = []
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            if len(handled) >= expected:
                return handled
            continue
        answer = function.invoke(sqs_event(got, queue_arn))
        assert answer.ok, f"the function failed: {answer.body}"
        failed = {f["itemIdentifier"] for f in json.loads(answer.body)["batchItemFailures"]}
        assert not failed, f"the recorder handed back {failed}: {answer.body}"
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
        )
        handled.extend(got)
    raise AssertionError(f"handled {len(handled)} of {expected} messages in {timeout_s}s")


def _get(endpoint: str, path: str) -> str:
    last = ""
    # moto's data.json walks every model and answers 500 when another request changes one.
    for _ in range(20):
        try:
            with urllib.request.urlopen(endpoint.rstrip("/") + path, timeout=10) as r:
                return r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            last = f"{e.code}: {e.read()[:300]!r}"
        time.sleep(0.25)
    raise AssertionError(f"GET {path}: {last}")


def timestream_records(endpoint: str, database: str, table: str) -> List[Dict[str, Any]]:
    """Every record the emulator stored in ``database``.``table`` (moto drops CommonAttributes)."""
    data = json.loads(_get(endpoint, "/moto-api/data.json"))
    tables = data.get("timestreamwrite", {}).get("TimestreamTable", [])
    return [r for t in tables if t.get("db_name") == database and t.get("name") == table for r in t.get("records", [])]
