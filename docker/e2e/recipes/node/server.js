// /slow answers after 1.5 s, everything else at once.
const http = require('http');

const server = http.createServer((req, res) => {
  const answer = () => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 3 });
    res.end('ok\n');
  };
  if (req.url === '/slow') setTimeout(answer, 1500); else answer();
});

server.listen(8080, () => console.log('node: listening on 8080'));

if (process.env.TERM_HANDLER === '1') {
  process.on('SIGTERM', () => {
    console.log('node: SIGTERM received, closing the server');
    // Node 18's close() waits for kept-alive connections: close the idle
    // ones now and each one that goes idle after its request.
    server.close(() => {
      console.log('node: graceful stop, all connections closed');
      process.exit(0);
    });
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), 100).unref();
  });
}
