// What a command needs from its process, passed in so commands run the same in tests as in `main`.

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => string;
  env: NodeJS.ProcessEnv;
}
