// The official tus Node.js server (@tus/server + @tus/file-store), the
// baseline that bench/run.sh compares the nginx module with.
//
//   node bench/tus-node-server.mjs PORT STORE_DIR
//
// Listens on 127.0.0.1:PORT, endpoint /files/, files in STORE_DIR.
// Works with @tus/server 1.x (Node >= 16) and 2.x (Node >= 20.19):
// bench/run.sh installs the one that fits the Node it finds.
import http from 'node:http';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const port = Number(process.argv[2] || 18082);
const directory = process.argv[3] || './tus-node-store';

const tus = new Server({
  path: '/files',
  datastore: new FileStore({ directory }),
});

const srv = http.createServer((req, res) => tus.handle(req, res));
// uploads of 1 GiB in one request must not hit Node's default timeouts
srv.requestTimeout = 0;
srv.headersTimeout = 60000;
srv.keepAliveTimeout = 65000;
srv.listen(port, '127.0.0.1', () => {
  console.log(`@tus/server listening on http://127.0.0.1:${port}/files/ ` +
              `(node ${process.version}, store ${directory})`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => srv.close(() => process.exit(0)));
}
