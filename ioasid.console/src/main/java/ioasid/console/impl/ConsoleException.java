package ioasid.console.impl;

/** A failure of the console's own commands; its message is the line the operator sees. */
final class ConsoleException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ConsoleException(String message) {
        super(message);
    }
}
