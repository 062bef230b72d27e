#!/usr/bin/env python3
"""A small HTTP server for the differential tests: `httpd.py PORT DIR PIDFILE`.

Serves the files in DIR (If-Modified-Since answered with 304), redirects /redirect to
/data.json, and answers a POST with a JSON document of what it received (201 for /create).
Writes its process id to PIDFILE, so the playbook can stop it.
"""
import functools
import http.server
import json
import os
import sys
import urllib.parse


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/redirect':
            self.send_response(302)
            self.send_header('Location', '/data.json')
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        super().do_GET()

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8')
        content_type = self.headers.get('Content-Type', '')
        reply = {'method': 'POST', 'path': self.path, 'content_type': content_type}
        if content_type.startswith('application/json'):
            reply['json'] = json.loads(body)
        elif content_type.startswith('application/x-www-form-urlencoded'):
            reply['form'] = urllib.parse.parse_qs(body)
        else:
            reply['body'] = body
        data = json.dumps(reply, sort_keys=True).encode()
        self.send_response(201 if self.path == '/create' else 200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


port, directory, pidfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
server = http.server.ThreadingHTTPServer(('0.0.0.0', port), functools.partial(Handler, directory=directory))
with open(pidfile, 'w') as f:
    f.write('%d\n' % os.getpid())
server.serve_forever()
