package ioasid.bench;

/** What the baselines store per ID; final fields, so a racy read sees it whole. */
final class Entry {
    final int id;
    final Object owner;
    final Object data;

    Entry(int id, Object owner, Object data) {
        this.id = id;
        this.owner = owner;
        this.data = data;
    }
}
