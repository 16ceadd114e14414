-- /slow answers after 1.5 s (HAProxy's own applet, no backend).
core.register_service("slow", "http", function(applet)
    core.msleep(1500)
    local body = "ok\n"
    applet:set_status(200)
    applet:add_header("content-type", "text/plain")
    applet:add_header("content-length", string.len(body))
    applet:start_response()
    applet:send(body)
end)
