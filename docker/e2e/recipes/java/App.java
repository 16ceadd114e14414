import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** /slow answers after 1.5 s, everything else at once. */
public class App {
    public static void main(String[] args) throws Exception {
        AtomicInteger inFlight = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress(8080), 128);
        server.setExecutor(Executors.newFixedThreadPool(16));
        server.createContext("/", exchange -> {
            inFlight.incrementAndGet();
            try {
                if (exchange.getRequestURI().getPath().equals("/slow")) {
                    Thread.sleep(1500);
                }
                byte[] body = "ok\n".getBytes();
                exchange.getResponseHeaders().set("Content-Type", "text/plain");
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                exchange.close();
                inFlight.decrementAndGet();
            }
        });
        // JDK 17's stop(delay) waits the whole delay even when idle: wait
        // for the in-flight requests ourselves, then stop at once.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("java: shutdown hook, " + inFlight.get() + " requests in flight");
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (inFlight.get() > 0 && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    break;
                }
            }
            server.stop(0);
            System.out.println("java: graceful stop, " + inFlight.get() + " requests left");
        }));
        server.start();
        System.out.println("java: listening on 8080");
    }
}
