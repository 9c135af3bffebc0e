// A loopback Python package index for the pip tests: a wheel of a tiny pure-python package built on the host
// with python's zipfile (no registry, no build backend), laid out as a PEP 503 "simple" index directory and
// served over plain HTTP on 127.0.0.1 by a static file server that records every path asked for.
// Invariant: it serves only files under its own temp directory, and only to loopback.

import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface PackageIndex extends AsyncDisposable {
  port: number;
  /** The package's name, version and the value its `answer()` returns. */
  name: string;
  version: string;
  answer: number;
  wheel: string;
  /** The wheel's path on the host. */
  wheelFile: string;
  /** Every request path the index answered, in order. */
  requests: string[];
  close(): Promise<void>;
}

// Writes DIR/packages/NAME-VERSION-py3-none-any.whl (module NAME with answer()) and DIR/simple/{,NAME/}index.html.
const BUILD_INDEX = `
import base64, hashlib, os, sys, zipfile
root, name, version, answer = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f"VERSION = {version!r}\\n\\ndef answer():\\n    return {answer}\\n",
    f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: airlock-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data.encode()).digest()).rstrip(b"=").decode()
record = "".join(f"{path},{digest(data)},{len(data.encode())}\\n" for path, data in files.items())
files[f"{info}/RECORD"] = record + f"{info}/RECORD,,\\n"
wheel = f"{name}-{version}-py3-none-any.whl"
os.makedirs(f"{root}/packages")
os.makedirs(f"{root}/simple/{name}")
with zipfile.ZipFile(f"{root}/packages/{wheel}", "w", zipfile.ZIP_DEFLATED) as archive:
    for path, data in files.items():
        archive.writestr(path, data)
sha = hashlib.sha256(open(f"{root}/packages/{wheel}", "rb").read()).hexdigest()
with open(f"{root}/simple/index.html", "w") as page:
    page.write(f'<!DOCTYPE html><html><body><a href="{name}/">{name}</a></body></html>\\n')
with open(f"{root}/simple/{name}/index.html", "w") as page:
    page.write(f'<!DOCTYPE html><html><body><a href="../../packages/{wheel}#sha256={sha}">{wheel}</a></body></html>\\n')
print(wheel)
`;

/** Builds the wheel and the index under `dir` (which must not hold them yet) and serves `dir` on 127.0.0.1. */
export async function startPackageIndex(
  dir: string,
  name = 'tinypkg',
  version = '1.0',
  answer = 42,
): Promise<PackageIndex> {
  const wheel = execFileSync('python3', ['-c', BUILD_INDEX, dir, name, version, String(answer)], {
    encoding: 'utf8',
  }).trim();
  const requests: string[] = [];
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://index').pathname;
    requests.push(path);
    let file = normalize(join(dir, decodeURIComponent(path)));
    try {
      if (!file.startsWith(`${dir}/`)) throw new Error('outside the index');
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      const type = file.endsWith('.html') ? 'text/html' : 'application/octet-stream';
      response.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  };
  return {
    port: (server.address() as AddressInfo).port,
    name,
    version,
    answer,
    wheel,
    wheelFile: join(dir, 'packages', wheel),
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}
