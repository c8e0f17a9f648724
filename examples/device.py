#!/usr/bin/python3
"""An iotcloud device in ~200 lines: a template for firmware authors.

Speaks the device protocol of docs/device-protocol.md over MQTT 3.1.1 + TLS with Debian's
python3-paho-mqtt (1.6):

    /usr/bin/python3 examples/device.py --host 127.0.0.1 --port 8883 --cafile ca.crt \
        --id DEVICE_ID (--cert DEVICE_ID.crt --key DEVICE_ID.key | --secret SECRET)

(--anonymous instead connects without credentials, for a development broker.)

It subscribes to `ID/#`, answers every request on `server/ID/{api}` (QoS 1, not retained),
echoes the request's "rid" and adds "status" (and "error" when the request failed).
State lives in memory: 32 GPIO pins, a clock offset, fixed network values, a status that
reads "restarting" for a moment after set_status {"value": "restart"}.

Jobs (docs/jobs.md): after connecting it asks for its next job (`server/ID/jobs/start-next`),
runs it — reports progress in statusDetails, then SUCCEEDED (FAILED when the document has
"fail": true) — and asks for the next one; `ID/jobs/notify-next` wakes it when idle. A job
document with "firmware_version" is "installed": the new version is reported in the
device's shadow (`server/ID/shadow/update`, state.reported.firmware).
"""

import argparse
import json
import logging
import signal
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt

GPIOS = 32
RESTART_SECONDS = 2.0
KEEPALIVE = 60


class ApiError(Exception):
    """A request we answer with an error: status, machine-readable code, message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def need_int(req, field, code="bad_request"):
    v = req.get(field)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool):
        raise ApiError(400, code, "%s: must be an integer" % field)
    return v


def need_str(req, field):
    v = req.get(field)
    if not isinstance(v, str):
        raise ApiError(400, "bad_request", "%s: must be a string" % field)
    return v


class Device:
    def __init__(self, device_id):
        self.id = device_id
        self.gpio = [0] * GPIOS
        self.rtc_offset = 0  # device clock minus system clock, seconds
        self.status = "running"
        self.lock = threading.Lock()  # the restart timer runs on another thread
        self.apis = {
            "get_gpio": self.get_gpio, "set_gpio": self.set_gpio,
            "get_rtc": self.get_rtc, "set_rtc": self.set_rtc,
            "get_mac": lambda req: {"value": "02:00:5e:00:00:01"},
            "get_ip": lambda req: {"value": "192.168.1.50"},
            "get_subnet": lambda req: {"value": "255.255.255.0"},
            "get_gateway": lambda req: {"value": "192.168.1.1"},
            "get_status": self.get_status, "set_status": self.set_status,
            "write_uart": lambda req: {"value": need_str(req, "value")},  # loopback UART
            "trigger_notification": self.trigger_notification,
        }

    # ---- the APIs: each takes the request object and returns the answer's fields ----

    def pin(self, req):
        n = need_int(req, "number", "bad_gpio")
        if not 0 <= n < GPIOS:
            raise ApiError(400, "bad_gpio", "number: must be 0..%d" % (GPIOS - 1))
        return n

    def get_gpio(self, req):
        n = self.pin(req)
        return {"number": n, "value": self.gpio[n]}

    def set_gpio(self, req):
        n = self.pin(req)
        v = need_int(req, "value")
        if v not in (0, 1):
            raise ApiError(400, "bad_value", "value: must be 0 or 1")
        self.gpio[n] = v
        return {"number": n, "value": v}

    def get_rtc(self, req):
        return {"value": int(time.time()) + self.rtc_offset}

    def set_rtc(self, req):
        v = need_int(req, "value")
        if not 0 <= v <= 253402300799:
            raise ApiError(400, "bad_value", "value: must be epoch seconds")
        self.rtc_offset = v - int(time.time())
        return {"value": v}

    def get_status(self, req):
        with self.lock:
            return {"value": self.status}

    def set_status(self, req):
        if need_str(req, "value") != "restart":
            raise ApiError(400, "bad_value", 'value: must be "restart"')
        with self.lock:
            self.status = "restarting"
        # A real device would answer first, then reboot and reconnect.
        t = threading.Timer(RESTART_SECONDS, self._restarted)
        t.daemon = True
        t.start()
        return {"value": "restarting"}

    def _restarted(self):
        with self.lock:
            self.status = "running"

    def trigger_notification(self, req):
        # This answer IS the notification request: the server's notifier sends it.
        return {"recipient": need_str(req, "recipient"), "message": need_str(req, "message")}

    # ---- one request in, one answer out ----

    def handle(self, api, payload):
        """Returns the answer object for a request on ID/{api}."""
        req = {}
        try:
            if payload:
                req = json.loads(payload.decode("utf-8"))
                if not isinstance(req, dict):
                    raise ValueError("not a JSON object")
            fn = self.apis.get(api)
            if fn is None:
                raise ApiError(404, "unknown_api", 'no api "%s"' % api)
            ans = dict(fn(req))
            ans["status"] = 200
        except ApiError as e:
            ans = {"status": e.status, "error": {"code": e.code, "message": e.message}}
        except ValueError as e:  # also UnicodeDecodeError and json.JSONDecodeError
            ans = {"status": 400, "error": {"code": "bad_json", "message": str(e)[:100]}}
        if isinstance(req, dict) and "rid" in req:
            ans["rid"] = req["rid"]  # echoed verbatim: the server matches on it
        return ans


class Jobs:
    """The AWS IoT Jobs start-next loop over the native topics, one job at a time."""

    def __init__(self, client, device_id):
        self.client, self.id = client, device_id
        self.busy, self.running, self.replies = False, None, 0

    def publish(self, rest, body):
        self.client.publish("server/%s/%s" % (self.id, rest), json.dumps(body), qos=1)

    def start_next(self):
        self.busy, self.running = True, None
        self.publish("jobs/start-next", {})

    def run(self, ex):
        job, doc = ex["jobId"], ex.get("jobDocument", {})
        logging.info("job %s: %s", job, json.dumps(doc))
        self.running, self.replies = job, 2  # two updates: IN_PROGRESS, then the outcome
        self.publish("jobs/%s/update" % job, {"status": "IN_PROGRESS",
                                              "statusDetails": {"progress": "50%"}})
        if doc.get("fail"):
            self.publish("jobs/%s/update" % job, {"status": "FAILED",
                                                  "statusDetails": {"reason": "asked to fail"}})
            return
        version = doc.get("firmware_version")
        if version is not None:  # "installed": the shadow says so
            self.publish("shadow/update", {"state": {"reported": {"firmware": str(version)}}})
        self.publish("jobs/%s/update" % job, {"status": "SUCCEEDED",
                                              "statusDetails": {"progress": "100%"}})

    def on_message(self, rest, payload):
        try:
            doc = json.loads(payload or b"{}")
        except ValueError:
            return
        if rest == "start-next/accepted":
            if "execution" in doc:
                self.run(doc["execution"])
            else:
                self.busy = False  # nothing pending: notify-next wakes us
        elif self.running and rest in ("%s/update/accepted" % self.running,
                                       "%s/update/rejected" % self.running):
            self.replies -= 1
            if self.replies == 0:  # both updates answered: the next job
                self.start_next()
        elif rest == "notify-next" and "execution" in doc and not self.busy:
            self.start_next()


def on_connect(client, dev, flags, rc):
    if rc != 0:
        logging.error("connection refused: %s", mqtt.connack_string(rc))
        return
    logging.info("connected as %s", dev.id)
    client.subscribe(dev.id + "/#", qos=1)  # again after every reconnect (clean session)
    dev.jobs = Jobs(client, dev.id)
    dev.jobs.start_next()


def on_disconnect(client, dev, rc):
    if rc != 0:
        logging.warning("connection lost (%s); reconnecting", mqtt.error_string(rc))


def on_message(client, dev, msg):
    prefix = dev.id + "/"
    if not msg.topic.startswith(prefix):
        return
    api = msg.topic[len(prefix):]
    if api.startswith("jobs/"):
        dev.jobs.on_message(api[5:], msg.payload)
        return
    if api.startswith("shadow/"):
        return  # answers to our shadow reports
    ans = dev.handle(api, msg.payload)
    client.publish("server/%s/%s" % (dev.id, api), json.dumps(ans), qos=1, retain=False)
    err = ans.get("error", {}).get("code", "")
    logging.info("%s rid=%s -> %d %s", api, ans.get("rid", "-"), ans["status"], err)


def parse_args(argv):
    p = argparse.ArgumentParser(description="iotcloud example device")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=8883)
    p.add_argument("--cafile", required=True, help="CA that signed the server certificate")
    p.add_argument("--id", required=True, help="device id (also the MQTT client id)")
    p.add_argument("--cert", help="device certificate (PEM), with --key")
    p.add_argument("--key", help="device private key (PEM)")
    p.add_argument("--secret", help="device secret (password; username = id)")
    p.add_argument("--anonymous", action="store_true",
                   help="no credentials (a development broker with allow-anonymous)")
    a = p.parse_args(argv)
    if bool(a.cert) != bool(a.key) or bool(a.cert) + bool(a.secret) + a.anonymous != 1:
        p.error("give one of: --cert and --key, --secret, --anonymous")
    return a


def main(argv):
    a = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s device: %(message)s")
    dev = Device(a.id)
    client = mqtt.Client(client_id=a.id, clean_session=True, protocol=mqtt.MQTTv311,
                         userdata=dev)
    client.tls_set(ca_certs=a.cafile, certfile=a.cert, keyfile=a.key,
                   cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if a.secret:
        client.username_pw_set(a.id, a.secret)  # never logged
    client.reconnect_delay_set(min_delay=1, max_delay=30)  # exponential backoff
    client.on_connect, client.on_disconnect = on_connect, on_disconnect
    client.on_message = on_message

    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean stop below runs
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    client.connect_async(a.host, a.port, KEEPALIVE)
    try:
        client.loop_forever(retry_first_connection=True)
    except KeyboardInterrupt:
        client.disconnect()  # queues DISCONNECT; one more loop pass sends it
        client.loop(timeout=0.5)
    logging.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
