// The version every Airlock process reports (the gateway's OpenAPI document, each worker's heartbeat).

export const VERSION = '0.1.0';
