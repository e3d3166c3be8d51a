// A server (or webhook) child process of the bench and the soak, and the messages they exchange with it: the child
// sends {type:'ready', port} once listening, answers {type:'stats'} with its own figures, and exits on {type:'exit'}.
import { fork } from 'node:child_process';

export function forkChild(script, args, execArgv) {
  const child = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
