// The TS side of the engine: worker processes, their protocol, the model store.
export * from './engine-python.js';
export * from './protocol.js';
export * from './messages.js';
export * from './worker.js';
export * from './model-store.js';
export * from './data-file.js';
export * from './rawloop.js';
export * from './model-info.js';
