# A libtorrent-rasterbar client (the engine of qBittorrent and Deluge) for the end-to-end tests,
# run by Debian's /usr/bin/python3 (python3-libtorrent). Seeds or downloads one torrent, finding
# peers only through its tracker: DHT, local peer discovery, UPnP, NAT-PMP and PEX (a default
# plugin, so none are added) are off; TCP only (uTP between libtorrent and Transmission can stall).
#
#   libtorrent-client.py TORRENT SAVE_DIR LISTEN_ADDR
#
# Prints one JSON line per second ({"state", "progress", "peers", "seeding", "tracker"}); on
# SIGTERM it stops cleanly: the torrent is paused, which sends the tracker event=stopped, then
# prints {"stopped": true, "answered": <the tracker answered>} and exits 0 (1 if unanswered).

import json
import signal
import sys
import time

import libtorrent as lt

torrent, save_dir, listen = sys.argv[1], sys.argv[2], sys.argv[3]
host = listen if ':' not in listen else '[' + listen + ']'

settings = {
    'listen_interfaces': host + ':0',
    'outgoing_interfaces': listen,
    'enable_dht': False,
    'enable_lsd': False,
    'enable_upnp': False,
    'enable_natpmp': False,
    'enable_incoming_utp': False,
    'enable_outgoing_utp': False,
    'allow_multiple_connections_per_ip': True,
    'announce_to_all_trackers': True,
    'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.tracker_notification | lt.alert.category_t.status_notification,
    'user_agent': 'swarmd-test/libtorrent-' + lt.__version__,
}
# flags 0: no default plugins (ut_pex, ut_metadata, smart_ban) and no default features started
session = lt.session(settings, 0)
handle = session.add_torrent({'ti': lt.torrent_info(torrent), 'save_path': save_dir})

stopping = False


def on_term(_signum, _frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)

last_tracker = ''
while not stopping:
    for a in session.pop_alerts():
        if isinstance(a, (lt.tracker_error_alert, lt.tracker_reply_alert, lt.tracker_warning_alert)):
            last_tracker = a.message()
    s = handle.status()
    print(json.dumps({'state': str(s.state), 'progress': s.progress, 'peers': s.num_peers, 'seeding': s.is_seeding, 'tracker': last_tracker}), flush=True)
    time.sleep(1)

# A clean exit: pausing the torrent announces event=stopped (destroying the session does not
# over UDP). An announce still in flight (say, event=completed) can swallow it, so wait for that
# first; then wait for the tracker's answer to the stopped announce (each at most 5 s).
deadline = time.time() + 5
while handle.status().announcing_to_trackers and time.time() < deadline:
    time.sleep(0.05)
session.pop_alerts()
handle.pause()
deadline = time.time() + 5
sent = answered = False
while not answered and time.time() < deadline:
    for a in session.pop_alerts():
        if isinstance(a, lt.tracker_announce_alert) and 'stopped' in a.message():
            sent = True
        elif sent and isinstance(a, (lt.tracker_reply_alert, lt.tracker_error_alert)):
            answered = True
    time.sleep(0.05)
print(json.dumps({'stopped': True, 'answered': answered}), flush=True)
sys.exit(0 if answered else 1)
