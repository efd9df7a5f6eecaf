package ioasid.remote.impl;

import ioasid.api.IoasidSet;
import ioasid.api.SetOwner;
import ioasid.api.SetState;
import ioasid.api.TokenType;

/*
 * A guest-side set of GuestSpace: a name and a quota over the guest's one set on the host
 * (rules 62-65 as seen by the guest). Its size counts the IDs allocated through it; the host
 * enforces the guest's quota across all of them.
 */
final class RemoteSet implements IoasidSet {
    private final int id;
    private final TokenType type;
    private final Object token;
    private final int quota;
    final SetOwner owner;
    // guarded by the GuestSpace
    int size;
    volatile SetState state = SetState.ACTIVE;

    RemoteSet(int id, TokenType type, Object token, int quota, SetOwner owner) {
        this.id = id;
        this.type = type;
        this.token = token;
        this.quota = quota;
        this.owner = owner;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public TokenType tokenType() {
        return type;
    }

    @Override
    public Object token() {
        return token;
    }

    @Override
    public int quota() {
        return quota;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public SetState state() {
        return state;
    }

    @Override
    public String toString() {
        return "remote set " + id + " (" + token + ")";
    }
}
