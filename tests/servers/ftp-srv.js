#!/usr/bin/env node
// ftp-srv (Node.js, `tls` module) as an anonymous, read-only FTPS server, for
// the real-server tests. Needs NODE_PATH=<install dir>/ftp-srv/node_modules.
//
//   node ftp-srv.js --host 127.0.0.1 --port N --cert CHAIN.pem --key KEY.pem
//                   --root DIR [--mode explicit|implicit|plain]
//                   [--tls optional|required] [--greeting-file FILE]
//                   [--protocols default|tls12|legacy]
//                   [--pasv-min N --pasv-max N]
//
// explicit: ftp:// URL with `tls` options (AUTH TLS); implicit: ftps:// URL
// (TLS from the first byte); plain: no `tls` option (AUTH TLS: `502`).
// ftp-srv itself cannot require TLS: --tls required makes this launcher's
// login handler refuse a login on a cleartext control connection (`530 TLS
// required for login.`). Writes are refused by ftp-srv's command blacklist
// (`502`). --protocols: default = Node's (TLS 1.2 + 1.3), tls12 = TLS 1.2
// only, legacy = TLS 1.0 to 1.3 with DEFAULT:@SECLEVEL=0. PASV answers with pasv_url = the host (ftp-srv replaces it with
// the client's address for a local client anyway). Logs (bunyan JSON) go to
// stdout.

'use strict';
const fs = require('fs');
const bunyan = require('bunyan');
const FtpSrv = require('ftp-srv');

function parse(argv) {
  const opts = {
    host: '127.0.0.1', mode: 'explicit', tls: 'optional', protocols: 'default', pasvMin: 30000, pasvMax: 30099,
  };
  const names = {
    '--host': 'host', '--port': 'port', '--cert': 'cert', '--key': 'key', '--root': 'root',
    '--mode': 'mode', '--tls': 'tls', '--greeting-file': 'greetingFile', '--protocols': 'protocols',
    '--pasv-min': 'pasvMin', '--pasv-max': 'pasvMax',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]];
    if (!name || i + 1 >= argv.length) {
      console.error(`usage error at ${argv[i]}`);
      process.exit(2);
    }
    opts[name] = argv[i + 1];
  }
  for (const required of ['port', 'root']) {
    if (!opts[required]) {
      console.error(`--${required} is required`);
      process.exit(2);
    }
  }
  if (!['explicit', 'implicit', 'plain'].includes(opts.mode) || !['optional', 'required'].includes(opts.tls) ||
      !['default', 'tls12', 'legacy'].includes(opts.protocols)) {
    console.error('bad --mode, --tls or --protocols');
    process.exit(2);
  }
  return opts;
}

const opts = parse(process.argv.slice(2));
const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
const scheme = opts.mode === 'implicit' ? 'ftps' : 'ftp';
const log = bunyan.createLogger({name: 'ftp-srv', level: 'debug', stream: process.stdout});
const tls = opts.mode === 'plain' ? false : {
  cert: fs.readFileSync(opts.cert),
  key: fs.readFileSync(opts.key),
};
if (opts.protocols === 'tls12') {
  Object.assign(tls, {minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2'});
} else if (opts.protocols === 'legacy') {
  Object.assign(tls, {minVersion: 'TLSv1', maxVersion: 'TLSv1.3', ciphers: 'DEFAULT:@SECLEVEL=0'});
}
const server = new FtpSrv({
  url: `${scheme}://${hostInUrl}:${opts.port}`,
  pasv_url: opts.host,
  pasv_min: Number(opts.pasvMin),
  pasv_max: Number(opts.pasvMax),
  anonymous: true,
  tls,
  greeting: opts.greetingFile ? fs.readFileSync(opts.greetingFile, 'utf8').replace(/\n$/, '').split('\n') : null,
  log,
});

const WRITES = ['STOR', 'APPE', 'STOU', 'DELE', 'MKD', 'RMD', 'RNFR', 'RNTO', 'SITE'];
server.on('login', ({connection}, resolve, reject) => {
  if (opts.tls === 'required' && !connection.secure) {
    reject(new Error('TLS required for login.'));
    return;
  }
  resolve({root: opts.root, blacklist: WRITES});
});
server.on('client-error', ({context, error}) => {
  log.info({context, error: String(error)}, 'client-error');
});

server.listen().then(() => {
  console.error(`listening on ${hostInUrl}:${opts.port} (${opts.mode}, TLS ${opts.tls})`);
}, (err) => {
  console.error(`cannot listen: ${err}`);
  process.exit(1);
});
