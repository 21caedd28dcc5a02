"""Voting models beyond Participation/Ballot/VoterCode (which live in pb.models)."""
