// A server (or webhook) child process of the bench and the soak, and the messages they exchange with it: the child
// sends {type:'ready', port} once listening, answers {type:'stats'} with its own figures, and exits on {type:'exit'}.
import { fork } from 'node:child_process';

/** `cpus` (a taskset CPU list such as '1') pins the child and its own children to those CPUs. */
export function forkChild(script, args, execArgv, { cpus } = {}) {
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'];
  const child = cpus
    ? fork(script, args, { stdio, execPath: 'taskset', execArgv: ['-c', cpus, process.execPath, ...execArgv] })
    : fork(script, args, { stdio, execArgv });
  const next = (type) => new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`${script} exited with ${code}`));
    const onMessage = (msg) => {
      if (msg.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(msg);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  return {
    ready: next('ready'),
    stats() {
      child.send({ type: 'stats' });
      return next('stats');
    },
    stop: () => new Promise((resolve) => {
      child.once('exit', resolve);
      child.send({ type: 'exit' });
    }),
  };
}
