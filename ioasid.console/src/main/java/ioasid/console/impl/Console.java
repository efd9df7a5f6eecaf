package ioasid.console.impl;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import ioasid.api.IoasidService;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.iommu.dto.DeviceDTO;

/**
 * The runtime's console. The launcher runs it on the main thread (a {@code main.thread}
 * service) and exits with the code it returns, so a script's exit code says whether its commands
 * succeeded and {@code shutdown} ends the runtime with the code it is given. Its own commands, in
 * scope {@code console}: {@code shutdown}, {@code exit}, {@code source}.
 */
@Component(service = {Callable.class, Console.class}, property = {"main.thread=true",
    "osgi.command.scope=console", "osgi.command.function=shutdown",
    "osgi.command.function=exit", "osgi.command.function=source"})
public final class Console implements Callable<Integer> {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;

    private final BundleContext context;
    private final CommandProcessor processor;
    private final String[] args;
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile Integer exit;
    private volatile Interactive interactive;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, target = "(!(ioasid.role=host))")
    volatile IoasidService ioasid;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile IommuService iommu;

    @Activate
    public Console(BundleContext context, @Reference CommandProcessor processor,
            @Reference(service = Object.class, target = "(launcher.arguments=*)",
                    cardinality = ReferenceCardinality.OPTIONAL) Map<String, Object> launcher) {
        this.context = context;
        this.processor = processor;
        Object a = launcher == null ? null : launcher.get("launcher.arguments");
        this.args = a instanceof String[] ? (String[]) a : new String[0];
    }

    @Deactivate
    void deactivate() {
        closed.countDown();
        Interactive i = interactive;
        if (i != null) {
            i.close();
        }
    }

    @Override
    public Integer call() {
        Launch launch;
        try {
            launch = Launch.of(args, context.getProperty("gosh.args"), System.console() != null);
        } catch (IllegalArgumentException e) {
            System.err.println("ioasid: " + e.getMessage() + "\n" + Launch.USAGE);
            return USAGE;
        }
        switch (launch.mode) {
            case HELP:
                System.out.println(Launch.USAGE);
                return OK;
            case SERVE:
                awaitClose();
                return exit == null ? OK : exit;
            case INTERACTIVE:
                return interactive();
            default:
                return script(launch);
        }
    }

    private int script(Launch launch) {
        // the process's own streams: System.out is Gogo's per-thread stream by now, and a session
        // writing to it would write into itself
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true,
                StandardCharsets.UTF_8);
        InputStream in = new FileInputStream(FileDescriptor.in);
        try (CommandSession session = processor.createSession(in, out, err)) {
            ScriptRunner runner = new ScriptRunner(session, out, err);
            int failures;
            if (launch.mode == Launch.Mode.COMMANDS) {
                failures = runner.run(launch.text, () -> exit != null);
            } else if (launch.mode == Launch.Mode.FILE) {
                String text;
                try {
                    text = Files.readString(Path.of(launch.text));
                } catch (IOException | RuntimeException e) {
                    err.println("ioasid: cannot read script " + launch.text + ": " + e);
                    return USAGE;
                }
                failures = runner.run(text, () -> exit != null);
            } else {
                failures = lines(runner, in);
            }
            return exit != null ? exit : failures == 0 ? OK : FAILED;
        }
    }

    /** Runs lines from a pipe as they arrive; a statement may span lines (an open brace). */
    private int lines(ScriptRunner runner, InputStream in) {
        int failures = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in,
                StandardCharsets.UTF_8))) {
            StringBuilder pending = new StringBuilder();
            for (String line; exit == null && closed.getCount() > 0
                    && (line = r.readLine()) != null;) {
                pending.append(line).append('\n');
                if (ScriptRunner.complete(pending)) {
                    failures += runner.run(pending, () -> exit != null);
                    pending.setLength(0);
                }
            }
            if (pending.length() > 0) {
                failures += runner.run(pending, () -> exit != null);
            }
        } catch (IOException e) {
            runner.error("ioasid: standard input: " + e.getMessage());
            return FAILED;
        }
        return failures == 0 ? OK : FAILED;
    }

    private int interactive() {
        Interactive i;
        try {
            i = new Interactive(processor, completion(), Path.of(".ioasid", "history"));
        } catch (IOException e) {
            System.err.println("ioasid: no terminal (" + e.getMessage() + "); use -c or a script");
            return USAGE;
        }
        interactive = i;
        try {
            i.run(() -> exit != null || closed.getCount() == 0);
        } finally {
            interactive = null;
            i.close();
        }
        return exit == null ? OK : exit;
    }

    private void awaitClose() {
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Completion completion() {
        return new Completion(() -> commands(), Map.of(
                Completion.Kind.SETS, () -> sets(),
                Completion.Kind.IDS, () -> ids(),
                Completion.Kind.DEVICES, () -> devices(),
                Completion.Kind.BACKENDS, () -> backends(),
                Completion.Kind.BUNDLES, () -> bundles()));
    }

    @SuppressWarnings("unchecked")
    private Collection<String> commands() {
        try (CommandSession s = processor.createSession(InputStream.nullInputStream(),
                System.out, System.err)) {
            Object names = s.get(".commands");
            return names instanceof Collection ? (Collection<String>) names : List.of();
        }
    }

    private Collection<String> sets() {
        IoasidService s = ioasid;
        List<String> out = new ArrayList<>();
        if (s != null) {
            for (SetDTO d : s.sets()) {
                out.add(String.valueOf(d.id));
            }
        }
        return out;
    }

    private Collection<String> ids() {
        IoasidService s = ioasid;
        List<String> out = new ArrayList<>();
        if (s != null) {
            for (IoasidDTO d : s.ids(null, 1000)) {
                out.add(String.valueOf(d.id));
            }
        }
        return out;
    }

    private Collection<String> devices() {
        IommuService s = iommu;
        List<String> out = new ArrayList<>();
        if (s != null) {
            for (DeviceDTO d : s.devices()) {
                out.add(d.name);
            }
        }
        return out;
    }

    private Collection<String> backends() {
        IommuService s = iommu;
        List<String> out = new ArrayList<>();
        if (s != null) {
            for (BackendDTO b : s.backends()) {
                out.add(b.name);
            }
        }
        return out;
    }

    private Collection<String> bundles() {
        List<String> out = new ArrayList<>();
        Arrays.stream(context.getBundles()).mapToLong(Bundle::getBundleId)
                .forEach(id -> out.add(String.valueOf(id)));
        return out;
    }

    // ------------------------------------------------------------------ commands

    @Descriptor("shut the runtime down in order; the JVM exits with code 0")
    public void shutdown() {
        shutdown(OK);
    }

    @Descriptor("shut the runtime down in order; the JVM exits with the code")
    public void shutdown(@Descriptor("the exit code, 0 to 125") int code) {
        if (code < 0 || code > 125) {
            throw new ConsoleException("EINVAL: exit code " + code + " is not in [0, 125]");
        }
        exit = code;
        closed.countDown();
    }

    @Descriptor("leave the console: the same as shutdown")
    public void exit() {
        shutdown(OK);
    }

    @Descriptor("leave the console: the same as shutdown")
    public void exit(@Descriptor("the exit code, 0 to 125") int code) {
        shutdown(code);
    }

    @Descriptor("run a script's commands here, each printed and checked as typed")
    public void source(CommandSession session,
            @Descriptor("the script file, relative to the working directory") String file) {
        String text;
        try {
            text = Files.readString(Path.of(file));
        } catch (IOException | RuntimeException e) {
            throw new ConsoleException("ENOENT: cannot read script " + file + ": " + e);
        }
        PrintStream out = System.out;
        PrintStream err = System.err;
        int failures = new ScriptRunner(session, out, err).run(text, () -> exit != null);
        if (failures > 0) {
            throw new ConsoleException(file + ": " + failures + " commands failed");
        }
    }
}
