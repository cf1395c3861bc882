"""Messages per second through SMTPNotifier to a local aiosmtpd server, against two baselines in the same run.

    python benchmarks/bench_smtp.py [--n 2000] [--repeat 3]     # needs aiosmtpd (pip install aiosmtpd)

The server runs in its own process on 127.0.0.1 (aiosmtpd's Sink handler: accepts and discards), so it does not
share the interpreter lock with the sender. Measured, on the same messages (a text and an HTML body each):

- RecordingNotifier: the in-memory notifier, the floor of what sending through the Notifier protocol costs;
- bare smtplib: one connection, ``sendmail`` of pre-built bytes, no result mapping, the floor of SMTP itself;
- SMTPNotifier with connection reuse (the default, recycled every 100 messages) and without (one connection,
  EHLO and QUIT per message).

Prints messages per second and each SMTP figure's time per message as a ratio against bare smtplib.
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from email import policy

from _report import record

from custdata.notify import Message, RecordingNotifier, SMTPNotifier

SENDER = "orders@shop.example"


def messages(n: int) -> list[Message]:
    return [
        Message(
            idempotency_key=f"ord_{i:06d}:order_shipped",
            channel="email",
            topic="order_shipped",
            recipient=f"customer{i}@example.com",
            subject=f"Your order {i} has shipped",
            text=f"Hello,\n\nyour order {i} is on its way. Track it at https://track.example/{i}.\n" * 3,
            html=f"<p>Hello,</p><p>your order <b>{i}</b> is on its way.</p>" * 3,
            order_id=f"ord_{i:06d}",
        )
        for i in range(n)
    ]


def start_server() -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the aiosmtpd server did not start (is aiosmtpd installed?)")


def best_of(repeat: int, run: Callable[[], int]) -> float:
    """The fastest of ``repeat`` runs, in seconds; each run must deliver every message."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="messages per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts")
    args = parser.parse_args()
    batch = messages(args.n)
    server, port = start_server()
    try:

        def recording() -> int:
            notifier = RecordingNotifier()
            return sum(notifier.send(m).ok for m in batch)

        prebuilt = SMTPNotifier("127.0.0.1", port, sender=SENDER, security="none")
        crlf = policy.compat32.clone(linesep="\r\n")  # SMTP lines end in CRLF; smtplib leaves bytes alone
        wire = [(m.recipient, prebuilt.build_email(m).as_bytes(policy=crlf)) for m in batch]

        def bare_smtplib() -> int:
            with smtplib.SMTP("127.0.0.1", port) as conn:
                for recipient, data in wire:
                    conn.sendmail(SENDER, [recipient], data)
            return len(wire)

        def notifier(reuse: bool) -> Callable[[], int]:
            def run() -> int:
                with SMTPNotifier("127.0.0.1", port, sender=SENDER, security="none", reuse_connection=reuse) as smtp:
                    sent = sum(smtp.send(m).ok for m in batch)
                if sent != len(batch):
                    raise SystemExit(f"only {sent} of {len(batch)} messages were sent")
                return sent

            return run

        cases = [
            ("RecordingNotifier (in memory)", recording),
            ("bare smtplib, one connection, pre-built bytes", bare_smtplib),
            ("SMTPNotifier, connection reuse", notifier(True)),
            ("SMTPNotifier, a connection per message", notifier(False)),
        ]
        timings = {name: best_of(args.repeat, run) for name, run in cases}
    finally:
        server.terminate()
        server.wait(timeout=10)

    base = timings["bare smtplib, one connection, pre-built bytes"]
    print(f"{args.n} messages per run, best of {args.repeat}; server: aiosmtpd Sink in its own process")
    print(f"{'case':<48} {'msg/s':>10} {'µs/msg':>9} {'vs smtplib':>11}")
    for name, seconds in timings.items():
        per = seconds / args.n
        print(f"{name:<48} {args.n / seconds:>10,.0f} {per * 1e6:>9,.0f} {seconds / base:>10.2f}x")
    for name in ("SMTPNotifier, connection reuse", "SMTPNotifier, a connection per message"):
        rate = f"{args.n / timings[name]:,.0f} msg/s"
        record("smtp", name, timings[name], "bare smtplib, one connection", base, size=f"{args.n:,}", note=rate)


if __name__ == "__main__":
    main()
