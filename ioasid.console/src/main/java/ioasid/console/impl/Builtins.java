package ioasid.console.impl;

import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;

import org.apache.felix.gogo.jline.Builtin;
import org.apache.felix.gogo.jline.Posix;
import org.apache.felix.gogo.jline.Procedural;
import org.apache.felix.service.command.CommandProcessor;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * Gogo's own commands (echo, each, if, grep, cat, ls...), from Gogo's JLine shell, whose classes
 * this bundle embeds: its bundle, started, would open a second console on the same terminal.
 * Commands that need that shell's own terminal handling (less, nano, tmux, watch, history,
 * keymap, job control) are left out.
 */
@Component(service = {})
public final class Builtins {
    static final String[] BUILTIN = {"format", "getopt", "new", "set", "tac", "type"};
    static final String[] PROCEDURAL = {"each", "if", "not", "throw", "try", "until", "while",
        "break", "continue"};
    static final String[] POSIX = {"cat", "echo", "grep", "sort", "sleep", "cd", "pwd", "ls",
        "head", "tail", "wc", "date"};

    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    public Builtins(BundleContext context, @Reference CommandProcessor processor) {
        register(context, new Builtin(), BUILTIN);
        register(context, new Procedural(), PROCEDURAL);
        register(context, new Posix(processor), POSIX);
    }

    private void register(BundleContext context, Object commands, String[] functions) {
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(CommandProcessor.COMMAND_SCOPE, "gogo");
        props.put(CommandProcessor.COMMAND_FUNCTION, functions);
        registrations.add(context.registerService(Object.class, commands, props));
    }

    @Deactivate
    void deactivate() {
        for (ServiceRegistration<?> r : registrations) {
            r.unregister();
        }
        registrations.clear();
    }
}
