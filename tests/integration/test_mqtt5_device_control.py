"""Device control with an MQTT 5.0 device (issue #16 section 2, request/response): the
request carries Response Topic and Correlation Data, and a device answering with that
correlation data is matched by it, with no "rid" in its JSON."""

import json
import threading
import unittest

from device_harness import TwoUserCase, register_device
from harness import iotcloud_only
from mqtt5_wire import (CORRELATION_DATA, PUBACK, RESPONSE_TOPIC, Raw5, ack5,
                        parse_publish5, prop, publish5)


@iotcloud_only("device control is iotcloud's")
class Mqtt5ControlCase(TwoUserCase):
    def device5(self):
        dev = register_device(self.api, self.token, self.dir)
        r = self.api.call("POST", "/v1/devices/%s/secret" % dev.id, token=self.token)
        self.assertEqual(r.status, 201, r.raw)
        c = Raw5(self.srv.port)
        self.addCleanup(c.close)
        _, reason, _ = c.connect5(dev.id, username=dev.id, password=r.json["secret"])
        self.assertEqual(reason, 0)
        _, _, codes = c.subscribe(1, [(dev.id + "/#", 1)])
        self.assertEqual(codes, [1])
        return dev.id, c

    def start_call(self, path, out, i):
        def run():
            out[i] = self.api.call("GET", path, token=self.token)
        t = threading.Thread(target=run)
        t.start()
        return t

    def request(self, c):
        m = parse_publish5(c.read_packet(timeout=10))
        if m["qos"]:
            c.send(ack5(PUBACK, m["pid"]))
        return m

    def test_answer_matched_by_correlation_data(self):
        dev_id, c = self.device5()
        out = [None, None]
        ts = [self.start_call("/v1/devices/%s/gpio/%d" % (dev_id, i), out, i) for i in (0, 1)]
        reqs = [self.request(c), self.request(c)]
        for m in reqs:
            self.assertEqual(m["topic"], "%s/get_gpio" % dev_id)
            self.assertEqual(prop(m["props"], RESPONSE_TOPIC), "server/" + m["topic"])
            corr = prop(m["props"], CORRELATION_DATA)
            self.assertEqual(corr, json.loads(m["payload"])["rid"].encode())
        # answered in reverse order, without "rid": each caller gets its own answer
        for pid, m in zip((2, 3), reversed(reqs)):
            number = json.loads(m["payload"])["number"]
            body = json.dumps({"number": number, "value": number * 10})
            c.send(publish5(prop(m["props"], RESPONSE_TOPIC), body, qos=1, pid=pid,
                            props=[(CORRELATION_DATA, prop(m["props"], CORRELATION_DATA))]))
        for t in ts:
            t.join(15)
        for i in (0, 1):
            self.assertEqual(out[i].status, 200, out[i].raw)
            self.assertEqual(out[i].json["value"], i * 10)


if __name__ == "__main__":
    unittest.main()
