package io.capstream.policy;

/** What a cap does at 100 %. */
public enum CapAction { BLOCK, DOWNGRADE, THROTTLE, NOTIFY }
