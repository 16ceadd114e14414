// The app of the `npm start` launcher (tests/launchers.rs): logs as
// app.py does and drains 0.3 s on SIGTERM.
const fs = require("fs");
const log = process.env.LAUNCH_LOG;
const put = (l) => fs.appendFileSync(log, l + "\n");
put(`start ${process.pid}`);
process.on("SIGTERM", () => {
  put(`got 15 ${process.pid}`);
  setTimeout(() => {
    put(`exit 0 ${process.pid}`);
    process.exit(0);
  }, 300);
});
put(`ready ${process.pid}`);
setInterval(() => {}, 1 << 30);
