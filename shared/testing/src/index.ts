export { freePort } from './free-port.ts';
export { INSTALL_HINT, type NatsServer, type NatsServerOptions, startNatsServer } from './nats-server.ts';
export { containersOwnedBy, openFds, processAlive, rssAfterGc, rssBytes } from './process-probe.ts';
export { rejectionOf } from './rejection.ts';
export { type NatsServerInfo, serverInfo } from './server-info.ts';
export { removeTemplateImages } from './template-images.ts';
export { mountTmpfs, type TmpfsMount } from './tmpfs.ts';
