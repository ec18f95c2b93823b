// What each command does, in a line: for `wirestate --help`, which lists the commands without
// loading them (a command's module loads only when it runs), and for each command's own --help.
export const SUMMARIES = {
  generate: 'Validate the specs in spec/ and write generated/ (or the folders wirestate.config.json names): a table-driven MicroPython module, an XState machine and diagrams per machine.',
  visualise: 'Draw every machine in generated/diagrams/ (Graphviz DOT and SVG, Mermaid); with --html, write the explorer too.',
  sim: 'Run a MicroPython script on the simulated ESP8266 (the real MicroPython VM, host TCP/TLS).',
  trace: 'Print a trace recorded on the device (fsmtrace, or sim run --trace) with the names of the specs.',
  demo: 'The quick start (npm start): regenerate, start local servers, run the original WebSocket and Socket.IO examples on the simulated ESP8266.',
  bench: 'Print throughput, heap and generator figures (npm run bench).',
  deploy: 'Copy the runtime and the generated modules (and your main.py and app files) to a board: over USB serial, WebREPL, or to the simulated board.',
  run: 'Run a MicroPython script on a board (USB serial, WebREPL or the simulated board), its output shown as it comes.',
  repl: "Talk to a board's REPL (USB serial, WebREPL or the simulated board); Ctrl-] leaves.",
  init: 'Start a project: wirestate.config.json, an example spec (an SNTP client), its runtime module as `stub` writes it, a main.py and package.json scripts. Never overwrites a file.',
  stub: "Write the runtime module a machine's spec names (implementation:), or update it keeping your code: id constants, act() and guard() branches for every action and guard, with the spec's docs.",
  test: "Check the generated forms of each machine against each other on the simulated ESP8266 (XState vs the MicroPython tables: shortest paths, table mutants, random sequences); print coverage.",
  freeze: 'Write a manifest.py that freezes the runtime and the tables into a MicroPython firmware you build.',
} as const;
