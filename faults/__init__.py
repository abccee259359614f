"""The fault suite (`python -m faults`, `make faults`): crashes at random moments against devstack's real
servers, and what each leaves behind: records at source, in the target, duplicates, lost."""
